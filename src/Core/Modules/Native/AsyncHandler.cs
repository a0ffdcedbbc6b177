using LuaXmpp.Events;
using LuaXmpp.Hosting;
using LuaXmpp.Routing;
using LuaXmpp.Sessions;
using LuaXmpp.Storage;
using LuaXmpp.Xmpp;

namespace LuaXmpp.Modules.Native;

/// <summary>
/// A native handler that needs storage or auth returns its work as a pending result
/// (<see cref="Task{TResult}"/> of object?, true when done): the chain and the stanza's pass wait
/// for it (<see cref="EventBus.FireAsync"/>), so the session's next stanza and its XEP-0198 ack
/// come after it, as with Prosody's synchronous storage. A failure is logged, and an iq get/set
/// that failed is answered with internal-server-error (style guide §3.5) so the client is not
/// left waiting, and a message that could not be handled (e.g. offline storage failed) is
/// bounced the same way rather than dropped in silence (RFC 6120 §8.3.3.6). A full disk
/// answers resource-constraint.
/// </summary>
internal static class AsyncHandler
{
    public static object Run(ModuleContext module, EventData e, Func<Task> work)
    {
        var task = work();
        return task.IsCompletedSuccessfully ? true : Observe(module, e, task);
    }

    private static async Task<object?> Observe(ModuleContext module, EventData e, Task task)
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
                Bounce(module, e, StanzaReply.Error(message, error("The message could not be stored")));
            }
        }
        return true;
    }

    /// <summary>
    /// The bounce goes to the message's sender. The origin is the sender's session when the
    /// message came from it (or a server-to-server stream); but a message handed on from a
    /// recipient's XEP-0198 queue (spilled, or left unacknowledged when the session ended) has
    /// the recipient's session, or none, as its origin: that bounce is routed to the sender
    /// instead (before, it went to the recipient or nowhere, and the message was lost).
    /// </summary>
    private static void Bounce(ModuleContext module, EventData e, Xml.XmlElement bounce)
    {
        bool fromOrigin = e.Origin switch
        {
            null => false,
            ClientSession client => bounce.GetAttribute("to") is not { } to || client.FullJid?.ToString() == to,
            _ => true,
        };
        if (fromOrigin) e.Origin!.Send(bounce);
        else module.Send(bounce);
        module.Log.Debug($"Bounced a message to {bounce.GetAttribute("to")}: it could not be stored");
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
