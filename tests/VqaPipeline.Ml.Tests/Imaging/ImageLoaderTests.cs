using System.Net;
using System.Net.Sockets;
using SkiaSharp;
using VqaPipeline.Ml.Imaging;

namespace VqaPipeline.Ml.Tests.Imaging;

public sealed class ImageLoaderTests : IDisposable
{
    private readonly ImageLoader _loader = new();
    private readonly DirectoryInfo _temp = Directory.CreateTempSubdirectory("vqa-imaging-");

    public void Dispose() => _temp.Delete(recursive: true);

    private static string Fixture(string name) => Fixtures.PathOf("images", name);

    private string WriteTemp(string name, byte[] bytes)
    {
        var path = Path.Combine(_temp.FullName, name);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    private static void AssertSamePixels(RgbImage expected, RgbImage actual)
    {
        Assert.Equal((expected.Width, expected.Height), (actual.Width, actual.Height));
        Assert.True(expected.Pixels.AsSpan().SequenceEqual(actual.Pixels), "pixels differ");
    }

    private static void AssertFails(ImageLoadFailure reason, Action load) =>
        Assert.Equal(reason, Assert.Throws<ImageLoadException>(load).Reason);

    [Fact]
    public void Missing_file_is_not_found()
    {
        var path = Path.Combine(_temp.FullName, "missing.jpg");
        var error = Assert.Throws<ImageLoadException>(() => _loader.LoadFile(path));
        Assert.Equal(ImageLoadFailure.NotFound, error.Reason);
        Assert.Contains(path, error.Message);
        Assert.DoesNotContain('\n', error.Message);
    }

    [Theory]
    [InlineData("/tmp/abc")]
    [InlineData("/no/such/folder/abcd")]
    public async Task Missing_path_that_is_also_valid_base64_is_not_found(string path)
    {
        var error = await Assert.ThrowsAsync<ImageLoadException>(() => _loader.LoadAsync(path));
        Assert.Equal(ImageLoadFailure.NotFound, error.Reason);
    }

    [Fact]
    public async Task Missing_path_given_as_text_is_not_found()
    {
        var error = await Assert.ThrowsAsync<ImageLoadException>(
            () => _loader.LoadAsync(Path.Combine(_temp.FullName, "missing.png")));
        Assert.Equal(ImageLoadFailure.NotFound, error.Reason);
    }

    [Fact]
    public void Zero_byte_file_is_empty() =>
        AssertFails(ImageLoadFailure.Empty, () => _loader.LoadFile(WriteTemp("empty.jpg", [])));

    [Fact]
    public void Text_file_named_jpg_is_not_an_image() =>
        AssertFails(ImageLoadFailure.NotAnImage,
            () => _loader.LoadFile(WriteTemp("notes.jpg", "just some text, not a JPEG\n"u8.ToArray())));

    [Fact]
    public void Truncated_jpeg_is_an_error_not_a_grey_image()
    {
        var jpeg = File.ReadAllBytes(Fixture("rocket.jpg"));
        var path = WriteTemp("rocket-cut.jpg", jpeg[..(jpeg.Length / 2)]);
        var error = Assert.Throws<ImageLoadException>(() => _loader.LoadFile(path));
        Assert.Equal(ImageLoadFailure.Truncated, error.Reason);
        Assert.Contains("truncated", error.Message);
    }

    [Fact]
    public void Truncated_png_header_is_truncated()
    {
        var png = File.ReadAllBytes(Fixture("coco_cats.png"));
        AssertFails(ImageLoadFailure.Truncated, () => _loader.LoadBytes(png.AsSpan(0, 20)));
    }

    [Fact]
    public void Huge_png_header_is_refused_before_decoding()
    {
        var path = WriteTemp("bomb.png", TestImages.PngHeader(50_000, 50_000));
        var error = Assert.Throws<ImageLoadException>(() => _loader.LoadFile(path));
        Assert.Equal(ImageLoadFailure.TooLarge, error.Reason);
        Assert.Contains("50000x50000", error.Message);
    }

    [Fact]
    public void Pixel_limit_is_configurable()
    {
        var strict = new ImageLoader(new ImageLoadOptions { MaxPixels = 640 * 480 - 1 });
        AssertFails(ImageLoadFailure.TooLarge, () => strict.LoadFile(Fixture("coco_cats.png")));
        var exact = new ImageLoader(new ImageLoadOptions { MaxPixels = 640 * 480 });
        Assert.Equal(640, exact.LoadFile(Fixture("coco_cats.png")).Width);
    }

    [Fact]
    public async Task Unreachable_url_is_reported()
    {
        var url = $"http://127.0.0.1:{ClosedPort()}/image.jpg";
        var error = await Assert.ThrowsAsync<ImageLoadException>(() => _loader.LoadAsync(url));
        Assert.Equal(ImageLoadFailure.Unreachable, error.Reason);
        Assert.Contains(url, error.Message);
    }

    [Fact]
    public void Invalid_base64_is_reported()
    {
        AssertFails(ImageLoadFailure.InvalidBase64, () => _loader.LoadBase64("this is not base64!"));
        AssertFails(ImageLoadFailure.InvalidBase64, () => _loader.LoadBase64("data:image/png;base64,@@@@"));
    }

    [Fact]
    public async Task Invalid_base64_text_is_reported_by_the_general_loader()
    {
        var error = await Assert.ThrowsAsync<ImageLoadException>(() => _loader.LoadAsync("not base64 at all"));
        Assert.Equal(ImageLoadFailure.InvalidBase64, error.Reason);
    }

    [Fact]
    public async Task Data_uri_and_base64_decode_like_the_file()
    {
        var path = Fixture("tiny_14x25.png");
        var expected = _loader.LoadFile(path);
        var base64 = Convert.ToBase64String(File.ReadAllBytes(path));

        AssertSamePixels(expected, await _loader.LoadAsync($"data:image/png;base64,{base64}"));
        AssertSamePixels(expected, await _loader.LoadAsync(base64));
        AssertSamePixels(expected, _loader.LoadBase64(base64));
    }

    [Fact]
    public void Bytes_and_streams_decode_like_the_file()
    {
        var path = Fixture("rocket.jpg");
        var expected = _loader.LoadFile(path);
        AssertSamePixels(expected, _loader.LoadBytes(File.ReadAllBytes(path)));
        using var stream = File.OpenRead(path);
        AssertSamePixels(expected, _loader.LoadStream(stream));
    }

    [Fact]
    public async Task Http_url_is_downloaded_and_404_is_not_found()
    {
        var path = Fixture("rocket.jpg");
        using var server = new LocalImageServer("/rocket.jpg", File.ReadAllBytes(path));

        AssertSamePixels(_loader.LoadFile(path), await _loader.LoadAsync($"{server.BaseUrl}rocket.jpg"));
        var error = await Assert.ThrowsAsync<ImageLoadException>(
            () => _loader.LoadUrlAsync(new Uri($"{server.BaseUrl}absent.jpg")));
        Assert.Equal(ImageLoadFailure.NotFound, error.Reason);
    }

    [Fact]
    public void Gray_png_is_expanded_to_equal_channels()
    {
        var image = _loader.LoadFile(Fixture("camera_gray.png"));
        for (var pixel = 0; pixel < image.Pixels.Length; pixel += 3)
            Assert.True(image.Pixels[pixel] == image.Pixels[pixel + 1] && image.Pixels[pixel] == image.Pixels[pixel + 2]);
    }

    [Fact]
    public void Alpha_is_dropped_without_compositing()
    {
        var colours = _loader.LoadFile(Fixture("tiny_14x25.png"));
        // Fully and partly transparent pixels must keep their stored colour, as Pillow's convert("RGB") does.
        var png = TestImages.EncodeRgbaPng(colours, (x, y) => (byte)((x + y) % 3 * 60));
        AssertSamePixels(colours, _loader.LoadBytes(png));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    [InlineData(6)]
    [InlineData(7)]
    [InlineData(8)]
    public void Exif_orientation_is_applied_like_exif_transpose(int orientation)
    {
        var jpeg = TestImages.Encode(_loader.LoadFile(Fixture("tiny_14x25.png")), SKEncodedImageFormat.Jpeg, 90);
        var stored = _loader.LoadBytes(jpeg);
        var oriented = _loader.LoadBytes(TestImages.WithExifOrientation(jpeg, orientation));
        AssertSamePixels(PillowTranspose.ForExifOrientation(orientation)(stored), oriented);
    }

    [Fact]
    public void Exif_rotation_swaps_width_and_height()
    {
        var jpeg = TestImages.Encode(_loader.LoadFile(Fixture("tiny_14x25.png")), SKEncodedImageFormat.Jpeg, 90);
        var rotated = _loader.LoadBytes(TestImages.WithExifOrientation(jpeg, 6));
        Assert.Equal((25, 14), (rotated.Width, rotated.Height));
    }

    [Fact]
    public void Gif_gives_its_first_frame()
    {
        const int width = 7, height = 5;
        var palette = new byte[256 * 3];
        for (var index = 0; index < 256; index++)
            (palette[index * 3], palette[index * 3 + 1], palette[index * 3 + 2]) = ((byte)index, (byte)(255 - index), (byte)(index * 7));
        var first = Enumerable.Range(0, width * height).Select(i => (byte)(i * 5 + 1)).ToArray();
        var second = Enumerable.Range(0, width * height).Select(i => (byte)(200 - i)).ToArray();

        var image = _loader.LoadBytes(TestImages.EncodeGif(width, height, palette, first, second));

        var expected = first.SelectMany(index => palette.Skip(index * 3).Take(3)).ToArray();
        AssertSamePixels(new RgbImage(width, height, expected), image);
    }

    [Fact]
    public void Bmp_decodes_exactly()
    {
        var expected = _loader.LoadFile(Fixture("tiny_14x25.png"));
        AssertSamePixels(expected, _loader.LoadFile(WriteTemp("tiny.bmp", TestImages.EncodeBmp(expected))));
    }

    [Fact]
    public void Lossless_webp_decodes_exactly()
    {
        var expected = _loader.LoadFile(Fixture("tiny_14x25.png"));
        AssertSamePixels(expected, _loader.LoadFile(WriteTemp("tiny.webp", TestImages.EncodeLosslessWebp(expected))));
    }

    [Fact]
    public void Lossy_webp_decodes_to_the_right_size()
    {
        var source = _loader.LoadFile(Fixture("rocket.jpg"));
        var image = _loader.LoadBytes(TestImages.Encode(source, SKEncodedImageFormat.Webp, 80));
        Assert.Equal((source.Width, source.Height), (image.Width, image.Height));
    }

    private static int ClosedPort()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    /// <summary>Serves one image at one path on 127.0.0.1; anything else is 404.</summary>
    private sealed class LocalImageServer : IDisposable
    {
        private readonly HttpListener _listener = new();
        private readonly Task _serving;

        public LocalImageServer(string path, byte[] image)
        {
            BaseUrl = $"http://127.0.0.1:{ClosedPort()}/";
            _listener.Prefixes.Add(BaseUrl);
            _listener.Start();
            _serving = Task.Run(async () =>
            {
                while (_listener.IsListening)
                {
                    HttpListenerContext context;
                    try
                    {
                        context = await _listener.GetContextAsync();
                    }
                    catch (Exception e) when (e is HttpListenerException or ObjectDisposedException)
                    {
                        return;
                    }
                    var found = context.Request.Url?.AbsolutePath == path;
                    context.Response.StatusCode = found ? 200 : 404;
                    if (found)
                        await context.Response.OutputStream.WriteAsync(image);
                    context.Response.Close();
                }
            });
        }

        public string BaseUrl { get; }

        public void Dispose()
        {
            _listener.Stop();
            _listener.Close();
            _serving.Wait(TimeSpan.FromSeconds(5));
        }
    }
}
