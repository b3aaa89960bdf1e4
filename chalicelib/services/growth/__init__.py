"""Growth: credit group-buys (拼团), referrals and member-day reminders (PRODUCT.md 6)."""
