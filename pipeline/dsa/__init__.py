"""DSA statements of reasons: the DSA Transparency Database's fields, export and submission."""
