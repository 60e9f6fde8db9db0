"""Tenants (clinic organisations), their clinics and the clinics' locations."""
