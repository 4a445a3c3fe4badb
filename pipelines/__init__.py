"""End-to-end recipes that chain the tfhar CLIs (Table 1, semi-supervised curves)."""
