"""creditfirst: the table of contents. Wiring only; the logic lives in chalicelib."""

from chalice import Chalice

from chalicelib.api import (
    admin_risk,
    bookings,
    callbacks,
    campaigns,
    coupons,
    exports,
    group_buys,
    members,
    ops,
    orders,
    rentals,
    sandbox,
    trials,
    webhooks,
)
from chalicelib.api.middleware import http_middleware
from chalicelib.jobs import lambdas

app = Chalice(app_name="creditfirst")
app.register_middleware(http_middleware, "http")

# HTTP routes, one blueprint per area
app.register_blueprint(members.bp)
app.register_blueprint(sandbox.bp)
app.register_blueprint(callbacks.bp)
app.register_blueprint(rentals.bp)
app.register_blueprint(orders.bp)
app.register_blueprint(bookings.bp)
app.register_blueprint(trials.bp)
app.register_blueprint(admin_risk.bp)
app.register_blueprint(coupons.bp)
app.register_blueprint(campaigns.bp)
app.register_blueprint(ops.bp)
app.register_blueprint(webhooks.bp)
app.register_blueprint(exports.bp)
app.register_blueprint(group_buys.bp)

# Scheduled sweeps and queue workers
app.register_blueprint(lambdas.bp)
