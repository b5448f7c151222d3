"""The matching engine: one way to tell whether two people (or two companies) are the same customer.

``keys`` makes blocking keys, ``score`` compares two records field by field, ``engine`` finds
candidates in the database or in a list of records and applies the two thresholds.
"""
