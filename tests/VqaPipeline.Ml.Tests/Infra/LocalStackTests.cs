using System.Buffers.Binary;
using System.Data.Common;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using System.Xml.Linq;

namespace VqaPipeline.Ml.Tests.Infra;

/// <summary>
/// Smoke tests of the running stack (infra/local/up.sh or docker-compose.yml), each speaking the first step of the
/// server's own protocol with plain .NET, so no client library is needed.
/// </summary>
[Trait("Category", "LocalStack")]
public class LocalStackTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    [StackFact]
    public async Task RabbitMqAnswersTheAmqpProtocolHeaderWithConnectionStart()
    {
        var url = new Uri(LocalStack.Get("VQA_RABBITMQ_URL"));
        var frameStart = await ExchangeAsync(url.Host, url.IsDefaultPort ? 5672 : url.Port, "AMQP\0\0\u0009\u0001"u8.ToArray(), 13);

        Assert.Equal(1, frameStart[0]); // method frame
        Assert.Equal(0, BinaryPrimitives.ReadUInt16BigEndian(frameStart.AsSpan(1))); // channel 0
        Assert.Equal(10, BinaryPrimitives.ReadUInt16BigEndian(frameStart.AsSpan(7))); // class: connection
        Assert.Equal(10, BinaryPrimitives.ReadUInt16BigEndian(frameStart.AsSpan(9))); // method: start
        Assert.Equal([0, 9], frameStart[11..13]); // AMQP 0-9
    }

    [StackFact]
    public async Task PostgresAnswersAnSslRequest()
    {
        var settings = new DbConnectionStringBuilder { ConnectionString = LocalStack.Get("VQA_POSTGRES") };
        var port = settings.TryGetValue("Port", out var value) ? Convert.ToInt32(value) : 5432;
        var sslRequest = new byte[8];
        BinaryPrimitives.WriteInt32BigEndian(sslRequest, 8);
        BinaryPrimitives.WriteInt32BigEndian(sslRequest.AsSpan(4), 80877103);

        var answer = await ExchangeAsync((string)settings["Host"], port, sslRequest, 1);

        Assert.Contains((char)answer[0], "NS");
    }

    [StackFact]
    public async Task S3ListsTheImagesBucket()
    {
        var endpoint = new Uri(LocalStack.Get("VQA_S3_ENDPOINT"));
        using var http = new HttpClient { Timeout = Timeout };
        using var request = SignedListBucketsRequest(
            endpoint, LocalStack.Get("VQA_S3_ACCESS_KEY"), LocalStack.Get("VQA_S3_SECRET_KEY"));

        using var response = await http.SendAsync(request);
        var body = await response.Content.ReadAsStringAsync();

        Assert.True(response.IsSuccessStatusCode, $"GET {endpoint} answered {(int)response.StatusCode}: {body}");
        XNamespace s3 = "http://s3.amazonaws.com/doc/2006-03-01/";
        var root = XDocument.Parse(body).Root!;
        Assert.Equal(s3 + "ListAllMyBucketsResult", root.Name);
        Assert.Contains(LocalStack.Get("VQA_S3_BUCKET"),
            root.Descendants(s3 + "Bucket").Select(bucket => bucket.Element(s3 + "Name")?.Value));
    }

    private static async Task<byte[]> ExchangeAsync(string host, int port, byte[] request, int answerLength)
    {
        using var cancel = new CancellationTokenSource(Timeout);
        using var client = new TcpClient();
        await client.ConnectAsync(host, port, cancel.Token);
        var stream = client.GetStream();
        await stream.WriteAsync(request, cancel.Token);
        var answer = new byte[answerLength];
        await stream.ReadExactlyAsync(answer, cancel.Token);
        return answer;
    }

    // AWS Signature Version 4 for GET / (ListBuckets), so the same test passes against MinIO, which refuses unsigned
    // requests (s3rver accepts them).
    private static HttpRequestMessage SignedListBucketsRequest(Uri endpoint, string accessKey, string secretKey)
    {
        const string region = "us-east-1", signedHeaders = "host;x-amz-content-sha256;x-amz-date";
        var now = DateTime.UtcNow;
        var amzDate = now.ToString("yyyyMMdd'T'HHmmss'Z'");
        var scope = $"{now:yyyyMMdd}/{region}/s3/aws4_request";
        var emptyPayloadHash = Hex(SHA256.HashData([]));
        var host = endpoint.IsDefaultPort ? endpoint.Host : $"{endpoint.Host}:{endpoint.Port}";

        var canonicalRequest = $"GET\n/\n\nhost:{host}\nx-amz-content-sha256:{emptyPayloadHash}\nx-amz-date:{amzDate}\n\n"
                               + $"{signedHeaders}\n{emptyPayloadHash}";
        var stringToSign = $"AWS4-HMAC-SHA256\n{amzDate}\n{scope}\n{Hex(SHA256.HashData(Encoding.UTF8.GetBytes(canonicalRequest)))}";
        var signingKey = new[] { now.ToString("yyyyMMdd"), region, "s3", "aws4_request" }
            .Aggregate(Encoding.UTF8.GetBytes("AWS4" + secretKey), HmacSha256);
        var signature = Hex(HmacSha256(signingKey, stringToSign));

        var request = new HttpRequestMessage(HttpMethod.Get, new Uri(endpoint, "/"));
        request.Headers.Host = host;
        request.Headers.Add("x-amz-content-sha256", emptyPayloadHash);
        request.Headers.Add("x-amz-date", amzDate);
        request.Headers.TryAddWithoutValidation("Authorization",
            $"AWS4-HMAC-SHA256 Credential={accessKey}/{scope}, SignedHeaders={signedHeaders}, Signature={signature}");
        return request;
    }

    private static byte[] HmacSha256(byte[] key, string data) => HMACSHA256.HashData(key, Encoding.UTF8.GetBytes(data));

    private static string Hex(byte[] bytes) => Convert.ToHexStringLower(bytes);
}
