using System.Net;
using System.Net.Sockets;

namespace VqaPipeline.Ingestion;

/// <summary>
/// Keeps URL downloads off the service's own network (server-side request forgery): every connection the download
/// client opens, redirects included, resolves the host itself and connects only to a public address, so a name that
/// resolves, or later re-resolves (DNS rebinding), to loopback, a private or link-local range (cloud metadata at
/// 169.254.169.254), CGNAT, multicast or an unspecified address is refused before any byte is sent.
/// </summary>
internal static class OutboundAddressGuard
{
    /// <summary>The download client's handler: guarded unless <paramref name="allowPrivateNetwork"/>, never via a proxy.</summary>
    public static SocketsHttpHandler CreateHandler(TimeSpan connectTimeout, bool allowPrivateNetwork)
    {
        // A proxy would resolve and connect on our behalf, out of the guard's sight; redirects are followed by
        // UrlDownloader, one checked hop at a time.
        var handler = new SocketsHttpHandler { ConnectTimeout = connectTimeout, UseProxy = false, AllowAutoRedirect = false };
        if (!allowPrivateNetwork)
            handler.ConnectCallback = ConnectToPublicAddressAsync;
        return handler;
    }

    /// <summary>Why a download may not connect to <paramref name="address"/>, or <c>null</c> when it may.</summary>
    public static string? RefusalReason(IPAddress address)
    {
        if (address.IsIPv4MappedToIPv6)
            address = address.MapToIPv4();
        return address.AddressFamily == AddressFamily.InterNetwork ? IPv4Reason(address) : IPv6Reason(address);
    }

    private static string? IPv4Reason(IPAddress address)
    {
        var b = address.GetAddressBytes();
        return (b[0], b[1]) switch
        {
            (0, _) => "an unspecified ('this network') address",
            (127, _) => "a loopback address",
            (10, _) or (172, >= 16 and <= 31) or (192, 168) => "a private (RFC 1918) address",
            (169, 254) => "a link-local address (where cloud metadata services live)",
            (100, >= 64 and <= 127) => "a carrier-grade NAT (shared, RFC 6598) address",
            (>= 224 and <= 239, _) => "a multicast address",
            (>= 240, _) => "a reserved or broadcast address",
            _ => null,
        };
    }

    private static string? IPv6Reason(IPAddress address)
    {
        if (address.Equals(IPAddress.IPv6None) || address.Equals(IPAddress.IPv6Any))
            return "an unspecified address";
        if (address.Equals(IPAddress.IPv6Loopback))
            return "a loopback address";
        var b = address.GetAddressBytes();
        if ((b[0] & 0xFE) == 0xFC)
            return "a unique local (fc00::/7) address";
        if (address.IsIPv6LinkLocal || address.IsIPv6SiteLocal)
            return "a link-local address";
        if (address.IsIPv6Multicast)
            return "a multicast address";
        // NAT64 (64:ff9b::/96) carries an IPv4 address in its last four bytes.
        if (b[..12].SequenceEqual(new byte[] { 0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0 }))
            return IPv4Reason(new IPAddress(b[12..]));
        return null;
    }

    private static async ValueTask<Stream> ConnectToPublicAddressAsync(
        SocketsHttpConnectionContext context, CancellationToken cancellationToken)
    {
        var host = context.DnsEndPoint.Host;
        // An address literal is taken as it is (the resolver refuses some, such as 0.0.0.0, with a vaguer error).
        var addresses = IPAddress.TryParse(host, out var literal)
            ? [literal]
            : await Dns.GetHostAddressesAsync(host, cancellationToken);
        var permitted = addresses.Where(address => RefusalReason(address) is null).ToList();
        if (permitted.Count == 0)
        {
            var refused = addresses.FirstOrDefault();
            throw new ForbiddenAddressException(refused is null
                ? $"{host} does not resolve to any address"
                : $"{host} resolves to {refused}, {RefusalReason(refused)}; only public addresses are fetched "
                  + "(Ingestion:AllowPrivateNetworkUrls turns this off)");
        }

        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            // Connects to the checked addresses themselves, not to the name: a second lookup could answer differently.
            await socket.ConnectAsync(permitted.ToArray(), context.DnsEndPoint.Port, cancellationToken);
            return new NetworkStream(socket, ownsSocket: true);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }
}

/// <summary>A download refused because its host resolves only to addresses the service may not connect to.</summary>
internal sealed class ForbiddenAddressException(string message) : Exception(message);
