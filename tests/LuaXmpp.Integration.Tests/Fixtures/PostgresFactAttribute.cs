namespace LuaXmpp.Tests.Fixtures;

/// <summary>
/// A fact that needs a real PostgreSQL 15 (<see cref="PostgresServer"/>). Reported as skipped,
/// with the reason, only when the server binaries are not installed (xunit 2 decides skips at
/// discovery, hence the check here); anything else that goes wrong starting it fails the test.
/// </summary>
public sealed class PostgresFactAttribute : FactAttribute
{
    public PostgresFactAttribute()
    {
        if (PostgresServer.Unavailable is { } reason) Skip = reason;
    }
}

/// <summary>The theory form of <see cref="PostgresFactAttribute"/>.</summary>
public sealed class PostgresTheoryAttribute : TheoryAttribute
{
    public PostgresTheoryAttribute()
    {
        if (PostgresServer.Unavailable is { } reason) Skip = reason;
    }
}
