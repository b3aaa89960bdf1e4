"""Marketing: coupons, coupon drops and campaigns."""
