"""SQLAlchemy models, stores and Alembic migrations. SQLite by default, PostgreSQL in production."""
