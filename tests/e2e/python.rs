//! Python plugins (componentize-py) under the real host. Owned by the Python SDK work (issue 7).
