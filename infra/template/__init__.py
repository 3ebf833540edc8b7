"""Tools that write parts of template.yaml from the rest of it."""
