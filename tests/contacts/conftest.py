"""The customer fixtures (purposes, acme, anna, bernd) live in tests/conftest.py for every app."""
