"""`make bench`: the targets of DESIGN.md §8, measured as ratios within one run.

A report, not a test: it prints one table and exits 0; a missed target is marked in the table
and explained in the findings printed under it.
"""
