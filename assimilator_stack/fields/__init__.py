"""Field kinds: how each kind of model field is checked, compared, indexed, sorted and stored;
and the model schema that assigns a kind to every field.

Importing the package registers the built-in kinds (one module per family; a new kind's module
is imported here too)."""

# isort: off
# Asked first: a Vector() marker on a field that is not a list of floats is refused, not
# silently indexed as the kind of its type.
from . import vectors  # noqa: F401
# isort: on
from . import geo, scalars, temporal, text  # noqa: F401  (register the built-in kinds)
