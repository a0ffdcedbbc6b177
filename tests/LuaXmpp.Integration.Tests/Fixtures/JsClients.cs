using Xunit;

namespace LuaXmpp.Tests.Fixtures;

/// <summary>The Node client scripts in clients/js, whose packages scripts/test.sh installs with npm ci.</summary>
public static class JsClients
{
    /// <summary>The scripts' directory, after checking that <paramref name="package"/> is installed there.</summary>
    public static string DirectoryWith(string package)
    {
        var dir = Path.GetFullPath(Path.Combine(AppContext.BaseDirectory, "..", "..", "..", "clients", "js"));
        Assert.True(Directory.Exists(Path.Combine(dir, "node_modules", package)),
            $"{package} is not installed in {dir}: scripts/test.sh runs npm ci there");
        return dir;
    }
}
