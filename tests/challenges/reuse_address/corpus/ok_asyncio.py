import asyncio


async def handle(reader, writer):
    data = await reader.read(1024)
    writer.write(data)
    await writer.drain()
    writer.close()


async def main():
    server = await asyncio.start_server(handle, "127.0.0.1", 1337, reuse_address=True)
    async with server:
        await server.serve_forever()


asyncio.run(main())
