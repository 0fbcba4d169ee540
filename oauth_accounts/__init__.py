"""OAuth account linking: connect pages, encrypted token storage, single-flight refresh."""
