namespace LuaXmpp.Tests.Accounts;

public sealed class InternalHashedMemoryTests() : AuthProviderContractTests("internal_hashed", "memory");
