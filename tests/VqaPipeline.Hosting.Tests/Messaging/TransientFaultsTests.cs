using System.Net;
using System.Net.Sockets;
using Npgsql;
using VqaPipeline.Messaging.Redelivery;

namespace VqaPipeline.Hosting.Tests.Messaging;

public sealed class TransientFaultsTests
{
    [Fact]
    public void A_database_that_is_shutting_down_or_unreachable_is_a_transient_fault_even_wrapped()
    {
        Assert.True(TransientFaults.IsTransient(new PostgresException("terminating connection due to administrator command", "FATAL", "FATAL", "57P01")));
        Assert.True(TransientFaults.IsTransient(new InvalidOperationException("saving failed",
            new NpgsqlException("Failed to connect", new SocketException((int)SocketError.ConnectionRefused)))));
        Assert.True(TransientFaults.IsTransient(new AggregateException(new TimeoutException("no answer"))));
    }

    [Fact]
    public void An_object_store_answering_5xx_or_429_is_transient_and_one_answering_4xx_is_not()
    {
        Assert.True(TransientFaults.IsTransient(new StoreException(HttpStatusCode.ServiceUnavailable)));
        Assert.True(TransientFaults.IsTransient(new StoreException(HttpStatusCode.TooManyRequests)));
        Assert.False(TransientFaults.IsTransient(new StoreException(HttpStatusCode.Forbidden)));
    }

    [Fact]
    public void A_validation_error_or_data_the_database_refuses_is_not_transient()
    {
        Assert.False(TransientFaults.IsTransient(new ArgumentException("question is empty")));
        Assert.False(TransientFaults.IsTransient(new PostgresException("value too long for type character varying(255)", "ERROR", "ERROR", "22001")));
        Assert.False(TransientFaults.IsTransient(new InvalidOperationException("a bug", new FormatException("not a number"))));
        Assert.False(TransientFaults.IsTransient(new FileNotFoundException("model folder '/models/x' does not exist")));
        Assert.False(TransientFaults.IsTransient(new HttpRequestException("not found", null, HttpStatusCode.NotFound)));
    }

    /// <summary>Shaped like the S3 SDK's service exception: an HTTP status on a <c>StatusCode</c> property.</summary>
    private sealed class StoreException(HttpStatusCode status) : Exception($"the store answered {(int)status}")
    {
        public HttpStatusCode StatusCode { get; } = status;
    }
}
