using VqaPipeline.Contracts.V1;
using VqaPipeline.StackTesting;

namespace VqaPipeline.Pipeline.Tests.Support;

/// <summary>The services that own public routes (ingestion, inference, training, indexing) behind the gateway.</summary>
public sealed class ApiOwnersStack : IAsyncLifetime
{
    private ServiceStack? _stack;

    /// <summary>The started stack.</summary>
    public ServiceStack Stack => _stack ?? throw new InvalidOperationException("the stack is not started");

    public async Task InitializeAsync() =>
        _stack = await ServiceStack.StartAsync(new StackOptions
        {
            Purpose = "api-owners", InProcess = [Services.Ingestion, Services.Inference, Services.Training, Services.Indexing],
        });

    public async Task DisposeAsync()
    {
        if (_stack is not null)
            await _stack.DisposeAsync();
    }
}
