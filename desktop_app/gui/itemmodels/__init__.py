"""Qt item models that adapt catalog queries for views; they fetch lazily and never own the data."""
