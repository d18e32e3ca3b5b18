// Niceties only: the pages work without it (filters and sorting are server-side).
// The custom dates matter only with the "custom" range: dim them otherwise, and pick "custom" when a
// date is typed; changing a select applies the filters at once.
(function () {
  const form = document.getElementById("filters");
  if (!form) return;
  const range = form.querySelector("select[name=range]");
  const dates = form.querySelectorAll("input[type=date]");
  function sync() {
    const custom = range && range.value === "custom";
    form.querySelectorAll(".custom-date").forEach((el) => el.classList.toggle("inactive", !custom));
  }
  dates.forEach((input) => input.addEventListener("change", () => {
    if (range) range.value = "custom";
    sync();
  }));
  if (range) range.addEventListener("change", () => {
    sync();
    if (range.value !== "custom") form.requestSubmit();
  });
  form.querySelectorAll("select:not([name=range])").forEach((select) =>
    select.addEventListener("change", () => form.requestSubmit()));
  form.querySelectorAll("input[type=checkbox]").forEach((box) =>
    box.addEventListener("change", () => form.requestSubmit()));
  sync();
})();
