"""Operator tools for a running local stack: the consistency audit and the dead-letter redrive."""
