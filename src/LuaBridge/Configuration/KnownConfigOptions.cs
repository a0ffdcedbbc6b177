namespace LuaXmpp.LuaBridge.Configuration;

/// <summary>
/// Option names <see cref="ConfigChecker"/> knows about: those only meaningful in the global
/// section (as prosodyctl check lists them for 0.12), obsolete and deprecated ones, and common
/// options used to spot misspellings.
/// </summary>
internal static class KnownConfigOptions
{
    /// <summary>Options that Prosody reads from the global section only.</summary>
    public static readonly HashSet<string> GlobalOnly = new(StringComparer.Ordinal)
    {
        "access_control_allow_credentials", "access_control_allow_headers", "access_control_allow_methods",
        "access_control_max_age", "admin_socket", "body_size_limit", "bosh_max_inactivity", "bosh_max_polling",
        "bosh_max_wait", "buffer_size_limit", "c2s_close_timeout", "c2s_stanza_size_limit", "c2s_tcp_keepalives",
        "c2s_timeout", "component_stanza_size_limit", "component_tcp_keepalives", "consider_bosh_secure",
        "consider_websocket_secure", "console_banner", "console_prettyprint_settings", "daemonize", "gc",
        "http_default_host", "http_errors_always_show", "http_errors_default_message", "http_errors_detailed",
        "http_errors_messages", "http_handler_timeout", "http_headers_timeout", "http_idle_timeout",
        "http_max_buffer_size", "http_max_connections_per_ip", "http_max_content_size", "http_max_header_size", "installer_plugin_path", "limits",
        "limits_resolution", "log", "multiplex_buffer_size", "network_backend", "network_default_read_size",
        "network_settings", "openmetrics_allow_cidr", "openmetrics_allow_ips", "pidfile", "plugin_paths",
        "plugin_server", "prosodyctl_timeout", "prosody_group", "prosody_user", "run_as_root", "s2s_close_timeout",
        "s2s_insecure_domains", "s2s_require_encryption", "s2s_secure_auth", "s2s_secure_domains",
        "s2s_stanza_size_limit", "s2s_tcp_keepalives", "s2s_timeout", "statistics", "statistics_config",
        "statistics_interval", "tcp_keepalives", "tls_profile", "trusted_proxies", "umask", "use_dane", "use_ipv4",
        "use_ipv6", "websocket_frame_buffer_limit", "websocket_frame_fragment_limit", "websocket_get_response_body",
        "websocket_get_response_text",
    };

    /// <summary>Options that no longer do anything.</summary>
    public static readonly HashSet<string> Obsolete = new(StringComparer.Ordinal)
    {
        "archive_cleanup_interval", "cross_domain_bosh", "cross_domain_websocket", "dns_timeout",
        "muc_log_cleanup_interval", "s2s_dns_resolvers", "setgid", "setuid",
    };

    /// <summary>Deprecated options and what to use instead.</summary>
    public static readonly Dictionary<string, string> Deprecated = new(StringComparer.Ordinal)
    {
        ["anonymous_login"] = "use 'authentication = \"anonymous\"'",
        ["daemonize"] = "use the --daemonize/-D or --foreground/-F command line flags",
        ["no_daemonize"] = "use the --daemonize/-D or --foreground/-F command line flags",
        ["disallow_s2s"] = "remove \"s2s\" from modules_enabled (or add it to modules_disabled)",
        ["require_encryption"] = "use 'c2s_require_encryption' and 's2s_require_encryption'",
        ["vcard_compatibility"] = "use mod_compat_vcard from prosody-modules",
        ["use_libevent"] = "use 'network_backend = \"event\"'",
        ["whitelist_registration_only"] = "use 'allowlist_registration_only'",
        ["registration_whitelist"] = "use 'registration_allowlist'",
        ["registration_blacklist"] = "use 'registration_blocklist'",
        ["blacklist_on_registration_throttle_overload"] = "use 'blocklist_on_registration_throttle_overload'",
        ["bosh_ports"] = "use 'http_ports'",
        ["bosh_interfaces"] = "use 'http_interfaces'",
        ["legacy_ssl_ports"] = "use 'c2s_direct_tls_ports'",
        ["legacy_ssl_interfaces"] = "use 'c2s_direct_tls_interfaces'",
        ["legacy_ssl_ssl"] = "use 'c2s_direct_tls_ssl'",
    };

    /// <summary>Frequently used options, besides the global-only ones, for spelling suggestions.</summary>
    public static readonly HashSet<string> Common = new(StringComparer.Ordinal)
    {
        "admins", "allow_registration", "allow_unencrypted_plain_auth", "archive_expires_after", "authentication",
        "c2s_direct_tls_ports", "c2s_interfaces", "c2s_ports", "c2s_require_encryption", "certificate", "certificates",
        "component_interfaces", "component_module", "component_ports", "component_secret", "contact_info",
        "default_archive_policy", "default_storage", "disco_items", "enabled", "http_external_url", "http_host",
        "http_interfaces", "http_paths", "http_ports", "https_interfaces", "https_ports", "interfaces",
        "load_global_modules", "max_archive_query_results", "modules_disabled", "modules_enabled",
        "muc_room_default_public", "muc_room_locking", "restrict_room_creation", "s2s_interfaces", "s2s_ports",
        "sql", "ssl", "storage", "welcome_message", "defined",
    };

    public static bool IsKnown(string name) =>
        GlobalOnly.Contains(name) || Common.Contains(name) || Obsolete.Contains(name) || Deprecated.ContainsKey(name);
}
