"""Network definitions (torch). Scripts import what they need from here; nothing here reads files."""
