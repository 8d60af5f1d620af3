using Yarp.ReverseProxy.Transforms;
using Yarp.ReverseProxy.Transforms.Builder;

namespace VqaPipeline.Gateway;

/// <summary>
/// Lets an owner refuse a body before it is sent: a request with a body is forwarded with <c>Expect: 100-continue</c>,
/// so an owner that answers at once (<c>413</c> for a body over its route's limit, <c>429</c> over a quota, <c>404</c>)
/// has its answer passed to the client. Without it the gateway would go on sending a large body to an owner that has
/// answered and closed the connection, lose the answer and report <c>502</c>. An owner that reads the body sends
/// <c>100 Continue</c> first, which costs one round trip.
/// </summary>
internal static class OwnerRefusals
{
    public static void ExpectContinue(TransformBuilderContext transforms) =>
        transforms.AddRequestTransform(context =>
        {
            var request = context.HttpContext.Request;
            if (request.ContentLength > 0 || (request.ContentLength is null && request.Headers.TransferEncoding.Count > 0))
                context.ProxyRequest.Headers.ExpectContinue = true;
            return ValueTask.CompletedTask;
        });
}
