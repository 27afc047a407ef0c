export { type PublishedNotification, publishNotification } from "./publishNotification";
