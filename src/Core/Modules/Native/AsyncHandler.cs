using LuaXmpp.Events;
using LuaXmpp.Routing;
using LuaXmpp.Storage;
using LuaXmpp.Xmpp;

namespace LuaXmpp.Modules.Native;

/// <summary>
/// Event handlers are synchronous; a native handler that needs storage or auth claims the event
/// (returns true at once) and finishes on the loop. A failure is logged, and an iq get/set that
/// failed is answered with internal-server-error (style guide §3.5) so the client is not left waiting,
/// and a message that could not be handled (e.g. offline storage failed) is bounced the same way
/// rather than dropped in silence (RFC 6120 §8.3.3.6). A full disk answers resource-constraint.
/// </summary>
internal static class AsyncHandler
{
    public static object Run(ModuleContext module, EventData e, Func<Task> work)
    {
        _ = Observe(module, e, work());
        return true;
    }

    private static async Task Observe(ModuleContext module, EventData e, Task task)
    {
        try
        {
            await task;
        }
        catch (Exception ex)
        {
            if (ex is StorageException storage)
            {
                // The storage driver logged this failure (once per burst); one line per stanza would flood.
                module.Log.Debug($"Storage failed for {e.Stanza?.Name ?? "event"}: {storage.Message}");
            }
            else
            {
                module.Log.Error($"Handler failed for {e.Stanza?.Name ?? "event"}", ex);
            }
            var error = Answer(ex);
            if (e.Stanza is { Name: "iq" } iq && iq.GetAttribute("type") is "get" or "set")
            {
                e.Origin?.Send(StanzaReply.Error(iq, error(null)));
            }
            else if (e.Stanza is { Name: "message" } message && message.GetAttribute("type") != "error")
            {
                e.Origin?.Send(StanzaReply.Error(message, error("The message could not be stored")));
            }
        }
    }

    /// <summary>
    /// RFC 6120 §8.3.3.18: resource-constraint (wait) when the server lacks the resources (a full
    /// disk); otherwise internal-server-error (wait): the client may retry later either way.
    /// </summary>
    private static Func<string?, StanzaError> Answer(Exception ex) =>
        ex is StorageException { Failure: StorageFailure.Full }
            ? text => StanzaError.ResourceConstraint(text is null ? "Storage is full" : text + ": storage is full")
            : StanzaError.InternalServerError;
}
