"""Container images of the functions: build and benchmark."""
