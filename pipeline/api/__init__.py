"""HTTP surfaces shared by the moderator UI and the platform API (``hemicycle serve``)."""
