"""Tables keyed by UUID, text and composite primary keys, for the backfill tests only.

Installed when ``SHOP_EXTRA_APPS`` names it; its models are unmanaged (the tests create
the tables), so the demo shop's migrations stay as they are.
"""
