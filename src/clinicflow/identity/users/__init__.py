"""User administration use cases, by use case: accounts (creating users, staff, platform admins,
profiles, deactivation), reading (who may see whom), changes (names and profiles), grants
(role grants). `identity.service` is their public surface for other domains."""
