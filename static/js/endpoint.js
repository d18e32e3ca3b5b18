// Draws every chart the endpoint page embeds: the figures are built server-side (dashboard/charts.py)
// and shipped as JSON; plotly.js comes from our own static files.
(function () {
  "use strict";

  function draw() {
    document.querySelectorAll('script[type="application/json"].chart-data').forEach(function (script) {
      var div = document.querySelector('div[data-chart="' + script.dataset.for + '"]');
      if (!div) return;
      var payload = JSON.parse(script.textContent);
      Plotly.newPlot(div, payload.figure.data, payload.figure.layout, payload.config);
    });
  }

  if (typeof Plotly === "undefined") {
    document.querySelectorAll("div[data-chart]").forEach(function (div) {
      div.textContent = "Charts could not be drawn: plotly.js did not load.";
    });
    return;
  }
  draw();
})();
