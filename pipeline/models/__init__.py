"""Model backends (language identification, translation, toxicity, spam)."""
