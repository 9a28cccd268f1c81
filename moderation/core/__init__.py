"""Business rules of the moderation service; knows nothing of HTTP, templates or scikit-learn."""
