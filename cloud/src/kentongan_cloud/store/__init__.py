"""Storage adapter: the only package of ours that imports SQLAlchemy."""
