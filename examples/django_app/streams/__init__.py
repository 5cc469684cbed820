"""The production plan streams app: the model and the list view."""
