"""Field kinds: how each kind of model field is checked, compared, indexed, sorted and stored;
and the model schema that assigns a kind to every field.

Importing the package registers the built-in kinds (one module per family; a new kind's module
is imported here too)."""

from . import scalars, temporal, text  # noqa: F401  (register the built-in kinds)
