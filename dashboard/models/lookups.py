"""`field__any=[...]`: the rows whose field is in the list, as `field = ANY(%s)` with the list bound as one
array parameter.

The same rows as `__in`. The pages pass the ids of every endpoint a user may see (2,000 and more) to
several queries; `__in` binds each id as its own parameter, and at that size preparing and sending the
parameters took longer than Postgres took to run the query (measured on the fleet page: half its query
time went to building `IN (%s, %s, ...)`)."""

from django.db.models import Field, ForeignObject, Lookup


@ForeignObject.register_lookup  # relations keep their own lookups: `endpoint_id__any` too
@Field.register_lookup
class AnyOf(Lookup):
    lookup_name = "any"
    prepare_rhs = False  # the list as given: one array, not a value per element

    def as_sql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        return f"{lhs} = ANY(%s)", [*lhs_params, list(self.rhs)]
