"""JSON API for the news site (flask-smorest blueprints)."""
