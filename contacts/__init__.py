"""Accounts, contacts, touches, the outreach guard and the matching engine (filled by the contacts issue)."""
