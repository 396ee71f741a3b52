"""The answering pipeline: retrieve → select sentences → generate → verify quotes → ground statements."""
