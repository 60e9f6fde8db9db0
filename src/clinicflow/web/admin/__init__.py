"""The admin console (`/admin`): clinics and their locations, users and role grants, clinic
policies and the audit trail, for tenant administrators (everywhere) and clinic
administrators (their clinics). Every page calls the domains' services and policies."""
