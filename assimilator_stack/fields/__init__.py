"""Field kinds: how each kind of model field is checked, compared, indexed, sorted and stored;
and the model schema that assigns a kind to every field."""
