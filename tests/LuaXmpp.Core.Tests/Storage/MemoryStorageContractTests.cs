namespace LuaXmpp.Tests.Storage;

public sealed class MemoryStorageContractTests() : StorageContractTests("memory");
