"""creditfirst: credit-based commerce backend (Chalice app logic)."""
