using LuaXmpp.Configuration;

namespace LuaXmpp.Host.Http.Bosh;

/// <summary>
/// XEP-0124/XEP-0206 parameters, read as Prosody 0.12's mod_bosh reads them:
/// <c>bosh_max_inactivity</c> (60 s), <c>bosh_max_polling</c> (5 s, advertised),
/// <c>bosh_max_wait</c> (120 s, caps the client's <c>wait</c>), <c>consider_bosh_secure</c>.
/// CORS as mod_bosh gets it from Prosody 0.12's mod_http: on (unless <c>http_cors_override</c>
/// turns the "bosh" app off), for the origins in <c>access_control_allow_origins</c> (any when
/// unset or "*"), <c>access_control_max_age</c> (2 h). <c>cross_domain_bosh</c> is deprecated in
/// Prosody 0.12 and does nothing there; here neither (it is logged once, as Prosody logs it).
/// Prosody fixes <c>hold</c> at 1 and <c>requests</c> at 2 (its mod_bosh cannot change them),
/// and so do we: <c>bosh_max_requests</c> and <c>bosh_hold</c> are not read by Prosody either.
/// </summary>
public sealed record BoshSettings(
    string Path,
    TimeSpan MaxInactivity,
    TimeSpan MaxPolling,
    TimeSpan MaxWait,
    bool ConsiderSecure,
    bool CorsEnabled,
    IReadOnlyList<string> CorsOrigins,
    int CorsMaxAge,
    bool CrossDomainSet)
{
    public const string DefaultPath = "/http-bind";
    public const int Hold = 1;
    public const int Requests = 2;

    public static BoshSettings From(ServerConfig config)
    {
        var path = config.Get(null, "http_paths") is ConfigTable paths && ConfigValues.AsString(paths["bosh"]) is { } p ? p : DefaultPath;
        var origins = config.GetStringList(null, "access_control_allow_origins");
        var overrides = config.Get(null, "http_cors_override") as ConfigTable;
        var enabled = !(overrides?["bosh"] is ConfigTable bosh && ConfigValues.AsBoolean(bosh["enabled"]) == false);
        return new BoshSettings(
            path.TrimEnd('/') is { Length: > 0 } trimmed ? trimmed : DefaultPath,
            Seconds(config, "bosh_max_inactivity", 60),
            Seconds(config, "bosh_max_polling", 5),
            Seconds(config, "bosh_max_wait", 120),
            config.GetBoolean(null, "consider_bosh_secure", false),
            enabled,
            origins.Contains("*") ? [] : origins,
            (int)(config.GetNumber(null, "access_control_max_age") ?? 7200),
            config.Get(null, "cross_domain_bosh") is not null);
    }

    private static TimeSpan Seconds(ServerConfig config, string key, double fallback) =>
        TimeSpan.FromSeconds(config.GetNumber(null, key) is { } n && n >= 0 ? n : fallback);
}
