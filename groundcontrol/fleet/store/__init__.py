"""The durable dispatch store: its records (``model``), the SQL schema with the order state
machine enforced in the database (``schema``) and the SQLite implementation (``sqlite``).
"""
