namespace LuaXmpp.Tests.Accounts;

public sealed class InternalPlainMemoryTests() : AuthProviderContractTests("internal_plain", "memory");
