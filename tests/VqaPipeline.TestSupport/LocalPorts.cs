using System.Net;
using System.Net.Sockets;

namespace VqaPipeline.TestSupport;

public static class LocalPorts
{
    /// <summary>A local TCP port nothing listens on (free a moment ago): for a process to listen on, or to find closed.</summary>
    public static int Free()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
